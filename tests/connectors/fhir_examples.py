"""Example resources of the HL7 FHIR R4 specification (4.0.1), written out here from the spec's own
examples (file names below): Patient, Encounter and Immunization with the variations real servers
send. Narrative (``text``) and the Patient photo are left out; every other element is as published.
None of them was written by the sandbox, and none carries a Chinese resident ID.
"""

from __future__ import annotations

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
AIR = "urn:oid:1.2.36.1.2001.1005.17"  # the Australian Immunisation Register's vaccine codes
ACME = {"reference": "Organization/1", "display": "ACME Healthcare, Inc"}
MR = {"coding": [{"system": V2_0203, "code": "MR"}]}


def _mrn(value: str) -> list[dict]:
    return [{"use": "usual", "type": MR, "system": "urn:oid:0.1.2.3.4.5.6.7", "value": value}]


PATIENTS = [
    {  # patient-example.json
        "resourceType": "Patient",
        "id": "example",
        "identifier": [
            {
                "use": "usual",
                "type": MR,
                "system": "urn:oid:1.2.36.146.595.217.0.1",
                "value": "12345",
                "period": {"start": "2001-05-06"},
                "assigner": {"display": "Acme Healthcare"},
            }
        ],
        "active": True,
        "name": [
            {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
            {"use": "usual", "given": ["Jim"]},
            {"use": "maiden", "family": "Windsor", "given": ["Peter", "James"], "period": {"end": "2002"}},
        ],
        "telecom": [
            {"use": "home"},
            {"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1},
            {"system": "phone", "value": "(03) 3410 5613", "use": "mobile", "rank": 2},
            {"system": "phone", "value": "(03) 5555 8834", "use": "old", "period": {"end": "2014"}},
        ],
        "gender": "male",
        "birthDate": "1974-12-25",
        "_birthDate": {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "1974-12-25T14:35:45-05:00",
                }
            ]
        },
        "deceasedBoolean": False,
        "address": [
            {
                "use": "home",
                "type": "both",
                "text": "534 Erewhon St PeasantVille, Rainbow, Vic  3999",
                "line": ["534 Erewhon St"],
                "city": "PleasantVille",
                "district": "Rainbow",
                "state": "Vic",
                "postalCode": "3999",
                "period": {"start": "1974-12-25"},
            }
        ],
        "contact": [
            {
                "relationship": [
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}
                ],
                "name": {
                    "family": "du Marché",
                    "_family": {
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix",
                                "valueString": "VV",
                            }
                        ]
                    },
                    "given": ["Bénédicte"],
                },
                "telecom": [{"system": "phone", "value": "+33 (237) 998327"}],
                "address": {
                    "use": "home",
                    "type": "both",
                    "line": ["534 Erewhon St"],
                    "city": "PleasantVille",
                    "district": "Rainbow",
                    "state": "Vic",
                    "postalCode": "3999",
                    "period": {"start": "1974-12-25"},
                },
                "gender": "female",
                "period": {"start": "2012"},
            }
        ],
        "managingOrganization": {"reference": "Organization/1"},
    },
    {  # patient-example-b.json (photo left out)
        "resourceType": "Patient",
        "id": "pat2",
        "identifier": _mrn("123456"),
        "active": True,
        "name": [{"use": "official", "family": "Donald", "given": ["Duck", "D"]}],
        "gender": "other",
        "managingOrganization": ACME,
        "link": [{"other": {"reference": "Patient/pat1"}, "type": "seealso"}],
    },
    {  # patient-example-c.json
        "resourceType": "Patient",
        "id": "pat3",
        "identifier": _mrn("123457"),
        "active": True,
        "name": [{"use": "official", "family": "Notsowell", "given": ["Simon"]}],
        "gender": "male",
        "birthDate": "1982-01-23",
        "deceasedDateTime": "2015-02-14T13:42:00+10:00",
        "managingOrganization": ACME,
    },
    {  # patient-example-d.json
        "resourceType": "Patient",
        "id": "pat4",
        "identifier": _mrn("123458"),
        "active": True,
        "name": [{"use": "official", "family": "Notsowell", "given": ["Sandy"]}],
        "gender": "female",
        "birthDate": "1982-08-02",
        "deceasedBoolean": True,
        "managingOrganization": ACME,
    },
    {  # patient-example-f001-pieter.json
        "resourceType": "Patient",
        "id": "f001",
        "identifier": [
            {"use": "usual", "system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "738472983"},
            {"use": "usual", "system": "urn:oid:2.16.840.1.113883.2.4.6.3"},
        ],
        "active": True,
        "name": [{"use": "usual", "family": "van de Heuvel", "given": ["Pieter"], "suffix": ["MSc"]}],
        "telecom": [
            {"system": "phone", "value": "0648352638", "use": "mobile"},
            {"system": "email", "value": "p.heuvel@gmail.com", "use": "home"},
        ],
        "gender": "male",
        "birthDate": "1944-11-17",
        "deceasedBoolean": False,
        "address": [
            {
                "use": "home",
                "line": ["Van Egmondkade 23"],
                "city": "Amsterdam",
                "postalCode": "1024 RJ",
                "country": "NLD",
            }
        ],
        "maritalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Married"}
            ],
            "text": "Getrouwd",
        },
        "multipleBirthBoolean": True,
        "contact": [
            {
                "relationship": [
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C"}]}
                ],
                "name": {"use": "usual", "family": "Abels", "given": ["Sarah"]},
                "telecom": [{"system": "phone", "value": "0690383372", "use": "mobile"}],
            }
        ],
        "communication": [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": "nl", "display": "Dutch"}],
                    "text": "Nederlands",
                },
                "preferred": True,
            }
        ],
        "managingOrganization": {"reference": "Organization/f001", "display": "Burgers University Medical Centre"},
    },
    {  # patient-example-newborn.json
        "resourceType": "Patient",
        "id": "newborn",
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Everywoman"}
        ],
        "gender": "male",
        "birthDate": "2017-09-05",
        "multipleBirthInteger": 2,
    },
    {  # patient-genetics-example1.json
        "resourceType": "Patient",
        "id": "genetics-example1",
        "meta": {"lastUpdated": "2012-05-29T23:45:32Z"},
        "identifier": [
            {
                "type": {"coding": [{"system": V2_0203, "code": "SS"}]},
                "system": "http://hl7.org/fhir/sid/us-ssn",
                "value": "444222222",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": "Everywoman", "given": ["Eve"]}],
        "telecom": [{"system": "phone", "value": "555-555-2003", "use": "work"}],
        "gender": "female",
        "birthDate": "1973-05-31",
        "address": [{"use": "home", "line": ["2222 Home Street"]}],
        "managingOrganization": {"reference": "Organization/hl7"},
    },
]

ENCOUNTERS = [
    {  # encounter-example.json
        "resourceType": "Encounter",
        "id": "example",
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": {"reference": "Patient/example"},
    },
    {  # encounter-example-home.json
        "resourceType": "Encounter",
        "id": "home",
        "contained": [{"resourceType": "Location", "id": "home", "description": "Client's home", "mode": "kind"}],
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "HH", "display": "home health"},
        "subject": {"reference": "Patient/example"},
        "participant": [
            {
                "period": {"start": "2015-01-17T16:00:00+10:00", "end": "2015-01-17T16:30:00+10:00"},
                "individual": {"reference": "Practitioner/example", "display": "Dr Adam Careful"},
            }
        ],
        "period": {"start": "2015-01-17T16:00:00+10:00", "end": "2015-01-17T16:30:00+10:00"},
        "location": [
            {
                "location": {"reference": "#home", "display": "Client's home"},
                "status": "completed",
                "period": {"start": "2015-01-17T16:00:00+10:00", "end": "2015-01-17T16:30:00+10:00"},
            }
        ],
    },
    {  # encounter-example-f201-20130404.json
        "resourceType": "Encounter",
        "id": "f201",
        "identifier": [{"use": "temp", "value": "Encounter_Roel_20130404"}],
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [{"coding": [{"system": SNOMED, "code": "11429006", "display": "Consultation"}]}],
        "priority": {"coding": [{"system": SNOMED, "code": "17621005", "display": "Normal"}]},
        "subject": {"reference": "Patient/f201", "display": "Roel"},
        "participant": [{"individual": {"reference": "Practitioner/f201"}}],
        "reasonCode": [
            {"text": "The patient had fever peaks over the last couple of days. He is worried about these peaks."}
        ],
        "serviceProvider": {"reference": "Organization/f201"},
    },
]

_SITE = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActSite", "code": "LA", "display": "left arm"}]
}
_ROUTE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
            "code": "IM",
            "display": "Injection, intramuscular",
        }
    ]
}
_PERFORMERS = [
    {
        "function": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0443", "code": code}]},
        "actor": {"reference": "Practitioner/example"},
    }
    for code in ("OP", "AP")
]
_ELIGIBILITY = [
    {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/immunization-program-eligibility", "code": "ineligible"}
        ]
    }
]
_FUNDING = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/immunization-funding-source", "code": "private"}]
}
_IDENTIFIER = [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.3.6.1.4.1.21367.2005.3.7.1234"}]

IMMUNIZATIONS = [
    {  # immunization-example.json
        "resourceType": "Immunization",
        "id": "example",
        "identifier": _IDENTIFIER,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": AIR, "code": "FLUVAX"}], "text": "Fluvax (Influenza)"},
        "patient": {"reference": "Patient/example"},
        "encounter": {"reference": "Encounter/example"},
        "occurrenceDateTime": "2013-01-10",
        "primarySource": True,
        "location": {"reference": "Location/1"},
        "manufacturer": {"reference": "Organization/hl7"},
        "lotNumber": "AAJN11K",
        "expirationDate": "2015-02-15",
        "site": _SITE,
        "route": _ROUTE,
        "doseQuantity": {"value": 5, "system": "http://unitsofmeasure.org", "code": "mg"},
        "performer": _PERFORMERS,
        "note": [{"text": "Notes on adminstration of vaccine"}],
        "reasonCode": [{"coding": [{"system": SNOMED, "code": "429060002"}]}],
        "isSubpotent": True,
        "education": [
            {
                "documentType": "253088698300010311120702",
                "publicationDate": "2012-07-02",
                "presentationDate": "2013-01-10",
            }
        ],
        "programEligibility": _ELIGIBILITY,
        "fundingSource": _FUNDING,
    },
    {  # immunization-example-historical.json
        "resourceType": "Immunization",
        "id": "historical",
        "identifier": _IDENTIFIER,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": AIR, "code": "GNFLU"}], "text": "Influenza"},
        "patient": {"reference": "Patient/example"},
        "occurrenceString": "January 2012",
        "primarySource": False,
        "reportOrigin": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/immunization-origin", "code": "record"}],
            "text": "Written Record",
        },
        "location": {"reference": "Location/1"},
        "note": [{"text": "Notes on adminstration of a historical vaccine"}],
    },
    {  # immunization-example-refused.json
        "resourceType": "Immunization",
        "id": "notGiven",
        "status": "not-done",
        "statusReason": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "MEDPREC",
                    "display": "medical precaution",
                }
            ]
        },
        "vaccineCode": {"coding": [{"system": CVX, "code": "01", "display": "DTP"}]},
        "patient": {"reference": "Patient/example"},
        "occurrenceDateTime": "2013-01-10",
        "primarySource": True,
    },
    {  # immunization-example-protocol.json
        "resourceType": "Immunization",
        "id": "protocol",
        "identifier": _IDENTIFIER,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": CVX, "code": "104"}], "text": "Twinrix (HepA/HepB)"},
        "patient": {"reference": "Patient/example"},
        "encounter": {"reference": "Encounter/example"},
        "occurrenceDateTime": "2018-06-18",
        "primarySource": True,
        "location": {"reference": "Location/1"},
        "manufacturer": {"reference": "Organization/hl7"},
        "lotNumber": "PT123F",
        "expirationDate": "2018-12-15",
        "site": _SITE,
        "route": _ROUTE,
        "doseQuantity": {"value": 5, "system": "http://unitsofmeasure.org", "code": "mg"},
        "performer": _PERFORMERS,
        "isSubpotent": False,
        "programEligibility": _ELIGIBILITY,
        "fundingSource": _FUNDING,
        "protocolApplied": [
            {
                "series": "2-dose",
                "targetDisease": [{"coding": [{"system": SNOMED, "code": "40468003"}]}],
                "doseNumberPositiveInt": 1,
            },
            {
                "series": "3-dose",
                "targetDisease": [{"coding": [{"system": SNOMED, "code": "66071002"}]}],
                "doseNumberPositiveInt": 2,
            },
        ],
    },
]

EXAMPLES = {"Patient": PATIENTS, "Encounter": ENCOUNTERS, "Immunization": IMMUNIZATIONS}
