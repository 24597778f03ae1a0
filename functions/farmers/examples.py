"""Request examples of the farmers routes (see functions/auth/examples.py). The FPO is the local
twin's demo FPO; the plot is a 0.45 ha square near Ludhiana (inside India, closed, not self-intersecting)."""

from pydantic.config import JsonDict

CONSENT: JsonDict = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}
REGISTER_FARMER: JsonDict = {
    "name": "Asha Devi",
    "phone": "+91 98123 45678",
    "village": "Rampur",
    "district": "Ludhiana",
    "state": "Punjab",
    "preferred_language": "hi",
    "fpo_id": "FPO-DEMO-1",
    "consent": CONSENT,
}
PATCH_FARMER: JsonDict = {"version": 1, "village": "Sonepur", "preferred_language": "pa"}
JOIN: JsonDict = {"invitation_code": "ABCD-EFGH-JKLM-NPQR"}
ISSUE_INVITATION: JsonDict = {"expires_in_hours": 168}
SQUARE: JsonDict = {
    "type": "Polygon",
    "coordinates": [[[75.85, 30.9], [75.8507, 30.9], [75.8507, 30.9006], [75.85, 30.9006], [75.85, 30.9]]],
}
PLOT: JsonDict = {
    "type": "Feature",
    "geometry": SQUARE,
    "properties": {"name": "North field", "declared_area_ha": 0.45},
}
PUT_PLOT: JsonDict = {**PLOT, "version": 1}
SEASON: JsonDict = {
    "year": 2025,
    "season": "kharif",
    "crop": "rice",
    "sowing_date": "2025-06-20",
    "harvest_date": "2025-10-25",
    "cultivation_days": 120,
    "water_regime": "single_drainage",
    "water_regime_evidence": {"method": "farmer_declaration", "description": "Field drained once, mid-season"},
    "preseason_water": "non_flooded_lt_180",
    "organic_amendments": [{"type": "farmyard_manure", "t_per_ha": 2.0}],
    "synthetic_n_kg_per_ha": 120,
    "urea_kg_per_ha": 200,
    "residue_fate": "incorporated",
    "yield_t_per_ha": 5.2,
}
FIELD_DATA: JsonDict = {"plot_id": "P-EXAMPLE", "season": SEASON}
SYNC: JsonDict = {
    "records": [{"client_id": "c-farmer-0001", "entity": "farmer", "action": "create", "data": dict(REGISTER_FARMER)}]
}
UPLOAD: JsonDict = {
    "plot_id": "P-EXAMPLE",
    "season_key": "2025-kharif",
    "content_type": "image/jpeg",
    "size_bytes": 2_400_000,
    "description": "AWD pipe reading, week 6",
    "latitude": 30.9003,
    "longitude": 75.8503,
    "captured_at": "2025-08-01T09:30:00+05:30",
}
FARMER_IMPORT: JsonDict = {
    "fpo_id": "FPO-DEMO-1",
    "consent_version": "v1",
    "csv": "name,phone,village,district,state,preferred_language,consent_given,consent_at\n"
    "Asha Devi,9812345678,Rampur,Ludhiana,Punjab,hi,yes,2025-06-01T10:00:00+05:30\n"
    "Gurpreet Singh,9876543210,Rampur,Ludhiana,Punjab,pa,yes,2025-06-01T10:05:00+05:30\n",
}
PLOT_IMPORT: JsonDict = {
    "fpo_id": "FPO-DEMO-1",
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": SQUARE, "properties": {"farmer_id": "F-EXAMPLE", "name": "North field"}}
    ],
}
ISSUE_CLAIM_CODE: JsonDict = {"expires_in_hours": 72, "send_sms": True}
CLAIM: JsonDict = {"code": "KQ4T-7XWM-D2PA-L6ZE"}
