"""Reads and writes hutong's OGC API – Features with clients nobody on
this project wrote: GDAL's OGR OAPIF driver (ogrinfo, ogr2ogr) and
OWSLib's `Features`. Compares what they see with the native API.

Usage: python ogc_gdal_owslib.py ROOT_URL TOKEN BIG_COLLECTION WORKDIR
Exits non-zero, with the reason, when anything is off.
"""
import json
import os
import re
import subprocess
import sys
import urllib.request

from owslib.ogcapi.features import Features
from owslib.util import Authentication

root, token, big, workdir = sys.argv[1:5]


def get(path):
    with urllib.request.urlopen(root + path) as r:
        return json.load(r)


def run(*args):
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def key(feature):
    """What identifies a feature across clients: its geometry and its
    properties (GDAL renumbers feature ids)."""
    props = {k: v for k, v in feature["properties"].items() if v is not None}
    return json.dumps([feature["geometry"], props], sort_keys=True)


collections = [c["id"] for c in get("/collections")["collections"]]

# 1. ogrinfo lists every layer with the right feature count.
summary = run("ogrinfo", "-ro", "-so", "-al", "OAPIF:" + root)
counts = dict(
    re.findall(r"Layer name: (\S+).*?Feature Count: (\d+)", summary, re.S)
)
for cid in collections:
    expected = get(f"/collections/{cid}/items?limit=1")["numberMatched"]
    assert int(counts.get(cid, -1)) == expected, (cid, counts, expected)
print("ogrinfo ok", counts)

# 2. ogr2ogr copies a collection of more than 1,000 features to a
#    GeoPackage, page by page, and the copy holds exactly the native set.
gpkg = os.path.join(workdir, "copy.gpkg")
run("ogr2ogr", "-f", "GPKG", gpkg, "OAPIF:" + root, big, "-oo", "PAGE_SIZE=400")
geojson = os.path.join(workdir, "copy.geojson")
run("ogr2ogr", "-f", "GeoJSON", geojson, gpkg)
with open(geojson) as f:
    copied = json.load(f)["features"]
native = get(f"/v1/assets?kind={big.rstrip('s')}&limit=10000")["features"]
assert len(native) > 1000, len(native)
assert len(copied) == len(native), (len(copied), len(native))
native_keys = sorted(key(f) for f in native)
copied_keys = sorted(key(f) for f in copied)
assert native_keys == copied_keys, (native_keys[0], copied_keys[0])
print("ogr2ogr ok", len(copied))

# 3. OWSLib: landing page, conformance, collections, items with a bbox.
api = Features(root, auth=Authentication("planner", token))
assert any(l["rel"] == "service-desc" for l in api.links), api.links
conforms = api.conformance()["conformsTo"]
assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
# With a token, the work orders still to be done are listed too (only to
# tokens: GDAL above, anonymous, never meets their 401), and OWSLib reads
# them.
assert [c["id"] for c in api.collections()["collections"]] == collections + ["work-orders"]
assert "work-orders" not in collections
assert api.collection_items("work-orders", limit=10)["type"] == "FeatureCollection"
lights = api.collection("lights")
assert lights["itemType"] == "feature"
lon, lat = get("/v1/assets?kind=light&limit=1")["features"][0]["geometry"]["coordinates"]
bbox = [lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01]
page = api.collection_items("lights", bbox=bbox, limit=1000)
native_page = get("/v1/assets?kind=light&limit=1000&bbox=" + ",".join(map(str, bbox)))
assert page["numberMatched"] == native_page["numberMatched"] > 0, page["numberMatched"]
assert sorted(f["id"] for f in page["features"]) == sorted(f["id"] for f in native_page["features"])
if "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter" in conforms:
    status = page["features"][0]["properties"]["status"]
    some = api.collection_items("lights", filter=f"status = '{status}'", limit=10000)
    assert some["numberMatched"] > 0 and all(
        f["properties"]["status"] == status for f in some["features"]
    ), some["numberMatched"]
    dark = some
    print("owslib filter ok", dark["numberMatched"])
print("owslib read ok")

# 4. OWSLib creates, replaces and deletes a feature with the token.
before = get("/collections/lights/items?limit=1")["numberMatched"]
light = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [116.3955, 39.9415]},
    "properties": {"light_type": "street", "sensor": "pir", "status": "working", "district": "dongcheng"},
}
api.collection_item_create("lights", light)
created_url = api.response_headers["Location"]
assert created_url.startswith(root + "/collections/lights/items/"), created_url
new_id = created_url.rsplit("/", 1)[1]
assert get("/collections/lights/items?limit=1")["numberMatched"] == before + 1
light["properties"]["status"] = "faulty"
api.collection_item_update("lights", new_id, json.dumps(light))
assert get(f"/v1/assets/{new_id}")["properties"]["status"] == "faulty"
api.collection_item_delete("lights", new_id)
assert get("/collections/lights/items?limit=1")["numberMatched"] == before
print("owslib write ok")
