"""A structural check of SARIF 2.1.0 output, by hand (no schema download: the tests are offline).

Property names come from the OASIS SARIF 2.1.0 schema, whose objects do not allow additional
properties; only the objects ``leakpatrol scan`` writes are checked.
"""

from __future__ import annotations

import re
from typing import Any

ALLOWED = {
    "sarifLog": {"$schema", "version", "runs", "inlineExternalProperties", "properties"},
    "run": {"tool", "invocations", "conversion", "language", "versionControlProvenance", "originalUriBaseIds",
            "artifacts", "logicalLocations", "graphs", "results", "automationDetails", "runAggregates",
            "baselineGuid", "redactionTokens", "defaultEncoding", "defaultSourceLanguage", "newlineSequences",
            "columnKind", "externalPropertyFileReferences", "threadFlowLocations", "taxonomies", "addresses",
            "translations", "policies", "webRequests", "webResponses", "specialLocations", "properties"},
    "tool": {"driver", "extensions", "properties"},
    "toolComponent": {"guid", "name", "organization", "product", "productSuite", "shortDescription",
                      "fullDescription", "fullName", "version", "semanticVersion", "dottedQuadFileVersion",
                      "releaseDateUtc", "downloadUri", "informationUri", "globalMessageStrings", "notifications",
                      "rules", "taxa", "locations", "language", "contents", "isComprehensive",
                      "localizedDataSemanticVersion", "minimumRequiredLocalizedDataSemanticVersion",
                      "associatedComponent", "translationMetadata", "supportedTaxonomies", "properties"},
    "reportingDescriptor": {"id", "deprecatedIds", "guid", "deprecatedGuids", "name", "deprecatedNames",
                            "shortDescription", "fullDescription", "messageStrings", "defaultConfiguration",
                            "helpUri", "help", "relationships", "properties"},
    "reportingConfiguration": {"enabled", "level", "rank", "parameters", "properties"},
    "result": {"ruleId", "ruleIndex", "rule", "kind", "level", "message", "analysisTarget", "locations", "guid",
               "correlationGuid", "occurrenceCount", "partialFingerprints", "fingerprints", "stacks", "codeFlows",
               "graphs", "graphTraversals", "relatedLocations", "suppressions", "baselineState", "rank",
               "attachments", "hostedViewerUri", "workItemUris", "provenance", "fixes", "taxa", "webRequest",
               "webResponse", "properties"},
    "message": {"text", "markdown", "id", "arguments", "properties"},
    "location": {"id", "physicalLocation", "logicalLocations", "message", "annotations", "relationships",
                 "properties"},
    "physicalLocation": {"address", "artifactLocation", "region", "contextRegion", "properties"},
    "artifactLocation": {"uri", "uriBaseId", "index", "description", "properties"},
    "region": {"startLine", "startColumn", "endLine", "endColumn", "charOffset", "charLength", "byteOffset",
               "byteLength", "snippet", "message", "sourceLanguage", "properties"},
}
LEVELS = {"none", "note", "warning", "error"}
# RFC 3986 URI-reference characters (unreserved, reserved, percent escapes); no spaces or backslashes.
URI_REFERENCE = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$")


def _obj(value: Any, kind: str) -> dict[str, Any]:
    assert isinstance(value, dict), f"{kind} must be an object"
    extra = set(value) - ALLOWED[kind]
    assert not extra, f"{kind} has properties SARIF 2.1.0 does not define: {sorted(extra)}"
    return value


def _message(value: Any) -> None:
    msg = _obj(value, "message")
    assert isinstance(msg.get("text"), str) and msg["text"]


def check_sarif(doc: Any) -> list[dict[str, Any]]:
    """Assert ``doc`` is structurally valid SARIF 2.1.0; return the results of its only run."""
    log = _obj(doc, "sarifLog")
    assert log["version"] == "2.1.0"
    assert isinstance(log["$schema"], str) and "sarif" in log["$schema"] and "2.1.0" in log["$schema"]
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = _obj(log["runs"][0], "run")
    driver = _obj(_obj(run["tool"], "tool")["driver"], "toolComponent")
    assert driver["name"] == "leakpatrol"
    assert isinstance(driver["rules"], list)
    ids = []
    for rule in driver["rules"]:
        rule = _obj(rule, "reportingDescriptor")
        assert isinstance(rule["id"], str) and rule["id"]
        ids.append(rule["id"])
        if "shortDescription" in rule:
            _message(rule["shortDescription"])
        if "defaultConfiguration" in rule:
            assert _obj(rule["defaultConfiguration"], "reportingConfiguration").get("level", "warning") in LEVELS
        if "helpUri" in rule:
            assert URI_REFERENCE.match(rule["helpUri"])
    assert len(ids) == len(set(ids)), "rule ids are unique"
    results = run["results"]
    assert isinstance(results, list)
    for result in results:
        result = _obj(result, "result")
        assert result["ruleId"] in ids, "every result's rule is described by the driver"
        if "ruleIndex" in result:
            assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result.get("level", "warning") in LEVELS
        _message(result["message"])
        assert isinstance(result["locations"], list) and result["locations"]
        for location in result["locations"]:
            physical = _obj(_obj(location, "location")["physicalLocation"], "physicalLocation")
            uri = _obj(physical["artifactLocation"], "artifactLocation")["uri"]
            assert isinstance(uri, str) and URI_REFERENCE.match(uri), f"not a URI reference: {uri!r}"
            region = _obj(physical["region"], "region")
            for key in ("startLine", "startColumn"):
                assert isinstance(region[key], int) and region[key] >= 1
        fps = result["partialFingerprints"]
        assert isinstance(fps, dict) and fps and all(isinstance(v, str) for v in fps.values())
    return results
