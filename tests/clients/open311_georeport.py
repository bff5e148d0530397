"""Reads hutong's Open311 GeoReport v2 endpoint with `georeport` (PyPI),
a client nobody on this project wrote, in JSON and in XML.

Usage: python open311_georeport.py ROOT_URL EXPECTED_REQUEST_ID
Exits non-zero, with the reason, when anything is off.
"""
import sys

from georeport import GeoReport

root, request_id = sys.argv[1], sys.argv[2]
for fmt in ("json", "xml"):
    client = GeoReport(root, output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert len(codes) == 13, (fmt, codes)
    assert "water_pooling" in codes and "ebike_charging" in codes, (fmt, codes)
    lighting = [s for s in services if s["service_code"] == "dark_lane"][0]
    assert lighting["group"] == "Lighting", (fmt, lighting)

    definition = client.get_service_definition("water_pooling")
    attributes = definition["attributes"]
    if fmt == "xml":
        attributes = attributes["attribute"]
        attributes = attributes if isinstance(attributes, list) else [attributes]
    assert attributes[0]["code"] == "coord_sys", (fmt, definition)

    requests = client.get_service_requests(status="open", start_date="2024-01-01T00:00:00Z")
    requests = requests if isinstance(requests, list) else [requests]
    ids = [r["service_request_id"] for r in requests]
    assert request_id in ids, (fmt, ids)

    one = client.get_service_request(request_id)
    one = one[0] if isinstance(one, list) else one
    assert one["service_request_id"] == request_id, (fmt, one)
    assert one["service_code"] == "water_pooling", (fmt, one)
    assert one["status"] == "open", (fmt, one)
    assert abs(float(one["lat"]) - 39.9412) < 1e-4 and abs(float(one["long"]) - 116.3951) < 1e-4, (fmt, one)
    assert "caller" not in str(one) and "13912345678" not in str(one), (fmt, one)
    print(fmt, "ok:", len(codes), "services,", len(ids), "requests")
