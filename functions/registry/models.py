"""The public registry view: what a buyer, a registry or a journalist may read about a credit or a
project without an account. Outputs only (the routes take path parameters, no body).

No personal data, by construction: these models have no field for a farmer id, a farmer reference
(salted hash), a user id, a name, an FPO, a per-farmer quantity, a plot or the approver; logic.py
copies named fields out of ledger records into them and never passes a record body through. Buyers'
and beneficiaries' references are the opaque account ids the ledger records (never names).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

VERIFY_HOW = (
    "record_hash is the SHA-256 of the record's canonical JSON; merkle_proof leads from it to root; root is "
    "held on chain by the anchor registry at contract_address under batch_key (rootOf). Check the path and "
    "the chain with agri-ledger-verify (docs/ledger-verifier.md): 'proof' with a proof document from "
    "GET /ledger/proofs/{record_id} (account holders), or 'chain' on a ledger export; the registry view does "
    "not publish record bodies, which carry pseudonymous farmer references."
)


class Anchor(BaseModel):
    """Where a batch's Merkle root is on chain."""

    anchor_id: str = Field(description="The id anchored on chain: the batch id, or batch id + '.r<n>' after conflicts")
    batch_key: str = Field(description="sha256('agri-mrv:batch:' + anchor_id): the registry key holding the root")
    root: str
    record_count: int
    tx_hash: str
    block_number: int
    chain_id: int
    contract_address: str


class RecordProof(BaseModel):
    """One ledger record of a credit, without its body: its hash and how it is anchored."""

    record_id: str
    kind: str = Field(description="issuance, transfer, retirement or cancellation")
    seq: int = Field(description="Position in the hash chain")
    record_hash: str
    recorded_at: str | None = None
    anchored: bool = Field(description="False while the record's batch waits for the next anchoring (minutes)")
    leaf_index: int | None = Field(None, description="Index of record_hash among the batch's leaves")
    merkle_proof: list[dict[str, str]] | None = Field(None, description="Sibling hashes from the leaf to the root")
    anchor: Anchor | None = None


class ProofSummary(BaseModel):
    scheme: str = Field(description="The hashing scheme (agri_common.ledger_crypto.HASH_SCHEME)")
    records: list[RecordProof] = Field(description="The credit's records, oldest first")
    how_to_verify: str = VERIFY_HOW


class Retirement(BaseModel):
    beneficiary_ref: str = Field(description="On whose behalf the credits were retired (an opaque account id)")
    reason: str
    retired_at: str | None = None


class Cancellation(BaseModel):
    reason: str
    cancelled_at: str | None = None


class RegistryCredit(BaseModel):
    """A credit block as the public registry shows it."""

    serial: str = Field(description="The block holding the serial asked for")
    series: str
    start: int
    end: int
    quantity: int
    status: str = Field(description="active, retired or cancelled")
    vintage: int
    project_id: str
    run_id: str | None = None
    methodology_profile: str | None = None
    gwp: str | None = None
    issued_at: str | None = None
    retirement: Retirement | None = None
    cancellation: Cancellation | None = None
    proof: ProofSummary


class VintageTotals(BaseModel):
    vintage: int
    issued: int
    retired: int
    cancelled: int
    outstanding: int = Field(description="issued - retired - cancelled")


class RegistryProject(BaseModel):
    """A project's credits as the public registry shows them (the ledger's records of the project)."""

    project_id: str
    methodology_profiles: list[str]
    runs: list[str] = Field(description="The issuance series of the project (AGM-<project>-<vintage>-<run>)")
    issued: int
    retired: int
    cancelled: int
    outstanding: int
    vintages: list[VintageTotals]
    records: int = Field(description="Ledger records of the project")
    unanchored_records: int = Field(
        description="Records whose batch is not anchored yet (counted up to a bound: see unanchored_more)"
    )
    unanchored_more: bool = Field(
        False, description="True when more records than unanchored_records wait (the count stopped at its bound)"
    )
    totals_from: Literal["summary", "records"] = Field(
        description=(
            "Where the totals come from: 'summary', the project's summary the ledger keeps in the transaction of "
            "every record (constant work); 'records', a count of every record, for a project whose records "
            "predate the summary and are not backfilled yet"
        )
    )
    anchors: list[Anchor] = Field(
        description="The on-chain anchors of the batches holding the project's records, oldest first, one page"
    )
    next_token: str | None = Field(None, description="The next page of anchors (pass as next_token)")
