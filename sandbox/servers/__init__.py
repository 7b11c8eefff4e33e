"""The department HTTP systems of the sandbox: telecom (REST/JSON) and health (HL7 FHIR R4)."""
