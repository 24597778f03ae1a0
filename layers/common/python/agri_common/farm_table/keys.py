"""Every key of the farm table, built in one place (docs/table-design.md lists the access patterns).

Base table ``pk``/``sk``; one global index ``gsi1`` (``gsi1pk``/``gsi1sk``). Ids never contain
``#`` (they are generated here or validated by the routes), so prefixes cannot collide.
"""

from __future__ import annotations

from agri_common.single_table import Key as Key  # re-exported: the farm table's keys

META = "META"
AGG = "AGG"


def fpo(fpo_id: str) -> Key:
    return f"FPO#{fpo_id}", META


def fpo_agg(fpo_id: str) -> Key:
    """The FPO's running totals: what the overview reads with one GetItem."""
    return f"FPO#{fpo_id}", AGG


def fpo_village_agg(fpo_id: str, village: str) -> Key:
    return f"FPO#{fpo_id}", f"AGG#VILLAGE#{village.casefold()}"


def fpo_season_agg(fpo_id: str, season_key: str) -> Key:
    return f"FPO#{fpo_id}", f"AGG#SEASON#{season_key}"


AGG_PREFIX = "AGG#"
VILLAGE_AGG_PREFIX = "AGG#VILLAGE#"
SEASON_AGG_PREFIX = "AGG#SEASON#"


def is_fpo_aggregate(key: Key) -> bool:
    """Whether the key is one of an FPO's running totals (:func:`fpo_agg` and its village and season rows)."""
    pk, sk = key
    return pk.startswith("FPO#") and (sk == AGG or sk.startswith(AGG_PREFIX))


def farmer(farmer_id: str) -> Key:
    return f"FARMER#{farmer_id}", META


MEMBERSHIP_INDEX = {"approved": "FARMERS", "pending": "REQUESTS", "rejected": "REJECTED", "removed": "REMOVED"}


def farmer_index(fpo_id: str, village: str, farmer_id: str, membership: str = "approved") -> dict[str, str]:
    """gsi1 of a farmer: the FPO's approved members (``FPO#<id>#FARMERS``), its pending membership
    requests (``#REQUESTS``), its rejected ones (``#REJECTED``) or its removed members (``#REMOVED``), ordered (and filterable) by
    village. Approval moves the item from one partition to the other in its own transaction, so
    whoever lists the members (the MRV plan, the farmers list) never sees a non-member."""
    return {"gsi1pk": fpo_farmers_index(fpo_id, membership), "gsi1sk": f"{village.casefold()}#{farmer_id}"}


def fpo_farmers_index(fpo_id: str, membership: str = "approved") -> str:
    return f"FPO#{fpo_id}#{MEMBERSHIP_INDEX[membership]}"


def invitation(code_hash: str) -> Key:
    """A single-use invitation to join an FPO, by the SHA-256 of its code (the code is never stored)."""
    return f"INVITE#{code_hash}", META


def claim_code(farmer_id: str) -> Key:
    """A farmer profile's one live claim code (by its SHA-256; a new code replaces the old one)."""
    return f"CLAIM#{farmer_id}", META


def claim_attempts(user_id: str) -> Key:
    """A user account's wrong claim codes (rate limit across profiles)."""
    return f"CLAIMTRIES#{user_id}", META


def owner(user_id: str) -> Key:
    """One profile per user account: the farmer id a Cognito user owns (conditional put)."""
    return f"OWNER#{user_id}", META


def aadhaar(hmac_hex: str) -> Key:
    """Uniqueness of an Aadhaar number, by its keyed hash only."""
    return f"AADHAAR#{hmac_hex}", META


def plot(plot_id: str) -> Key:
    return f"PLOT#{plot_id}", META


def plot_partition(plot_id: str) -> str:
    """A plot's partition: its META item, seasons (``SEASON#``) and evidence (``EVIDENCE#``)."""
    return f"PLOT#{plot_id}"


ERASURE_SWEEP_INDEX = "ERASURE#SWEEP"


def erasure_sweep_index(due: str, farmer_id: str) -> dict[str, str]:
    """gsi1 of an erased farmer's tombstone until its late-upload sweep ran (docs/decisions/0022): the
    erasures still to sweep, by when they are due (``due``: UTC, ``YYYY-MM-DDTHH:MM:SSZ``, sorts as time)."""
    return {"gsi1pk": ERASURE_SWEEP_INDEX, "gsi1sk": f"{due}#{farmer_id}"}


def farmer_plots_index(farmer_id: str) -> str:
    return f"FARMER#{farmer_id}#PLOTS"


def plot_index(farmer_id: str, plot_id: str) -> dict[str, str]:
    return {"gsi1pk": farmer_plots_index(farmer_id), "gsi1sk": plot_id}


def season(plot_id: str, season_key: str) -> Key:
    return f"PLOT#{plot_id}", f"SEASON#{season_key}"


SEASON_PREFIX = "SEASON#"
EVIDENCE_PREFIX = "EVIDENCE#"


def evidence(plot_id: str, upload_id: str) -> Key:
    return f"PLOT#{plot_id}", f"EVIDENCE#{upload_id}"


def upload_index(upload_id: str) -> dict[str, str]:
    """gsi1 of an evidence item: find it by upload id alone (the completion route)."""
    return {"gsi1pk": f"UPLOAD#{upload_id}", "gsi1sk": "UPLOAD"}


def geo_cell(cell: str) -> str:
    return f"GEO#{cell}"


GEO_LOCK = "LOCK"


def geo_member(cell: str, plot_id: str) -> Key:
    return f"GEO#{cell}", f"PLOT#{plot_id}"


def geo_lock(cell: str) -> Key:
    """Version of a cell: every plot write touching the cell bumps it, so two concurrent writes
    of overlapping plots cannot both pass the overlap check (the second transaction fails)."""
    return f"GEO#{cell}", GEO_LOCK


def sync_receipt(user_id: str, client_id: str) -> Key:
    """Idempotency of offline sync: one receipt per (user, client-generated id)."""
    return f"SYNC#{user_id}#{client_id}", META
