"""The anchoring registry on an EVM chain, through web3: the `chain` layer (web3 and its wheels).

Which chain is configuration, never detection (``CHAIN_RPC_URL``):

- ``eth-tester://in-process``: an in-process EVM (eth-tester/py-evm), used by the local twin and
  the tests. It is ephemeral, so the registry contract is deployed on first use from the committed
  build (``AnchorRegistry.json``, see contracts/build.js), by eth-tester's first funded account.
  The chain is a module-level singleton: every function of one process (the twin) shares it, and
  the twin exposes it over HTTP JSON-RPC (infra/local/chain.py) for the command-line verifier.
- any ``http(s)://`` JSON-RPC URL (Polygon, Ethereum, a ganache node): transactions are signed
  locally with the writer's key (on AWS read from Secrets Manager by the writer) and sent raw; the
  registry lives at ``CHAIN_CONTRACT_ADDRESS`` (deploy it once with :func:`deploy_registry`).

Every RPC failure surfaces as :class:`ChainUnavailable`, so the ledger writer can keep a batch
pending and retry, whatever went wrong underneath.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

T = TypeVar("T")

IN_PROCESS_URL = "eth-tester://in-process"
BUILD_FILE = Path(__file__).with_name("AnchorRegistry.json")


class ChainUnavailable(Exception):
    """The RPC endpoint failed, timed out or refused a call; the operation may be retried."""


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    block_number: int
    status: int
    gas_used: int


@dataclass(frozen=True)
class OnChainAnchor:
    root: str  # hex, no 0x; all zeros when the batch was never anchored
    record_count: int
    block_number: int


@lru_cache(maxsize=1)
def contract_build() -> dict[str, Any]:
    build: dict[str, Any] = json.loads(BUILD_FILE.read_text())
    return build


# ---- the in-process chain (twin and tests) ----------------------------------------------------
_lock = threading.RLock()
_in_process: dict[str, Any] = {}


def in_process_provider() -> Any:
    """The process-wide eth-tester provider, its requests serialised (py-evm is not thread-safe)."""
    with _lock:
        if "provider" not in _in_process:
            from web3 import EthereumTesterProvider

            class _LockedProvider(EthereumTesterProvider):
                def make_request(self, method: Any, params: Any) -> Any:  # web3's RPCEndpoint, Any
                    with _lock:
                        return super().make_request(method, params)

            _in_process["provider"] = _LockedProvider()
        return _in_process["provider"]


def _in_process_client() -> ChainClient:
    with _lock:
        if "client" not in _in_process:
            from web3 import Web3

            w3 = Web3(in_process_provider())
            sender = w3.eth.accounts[0]
            address = deploy_registry(w3, sender=sender)
            _in_process["client"] = ChainClient(w3, address, sender=sender)
        return cast(ChainClient, _in_process["client"])


def in_process_rpc() -> Any:
    """``(method, params) -> response`` of the in-process chain as a JSON-RPC node would answer
    (web3's eth-tester request formatting and defaults applied), for the twin's HTTP bridge."""
    w3 = _in_process_client().w3
    return w3.provider.request_func(w3, w3.middleware_onion)


def reset_in_process_chain() -> None:
    """Forget the in-process chain (tests that want a fresh one)."""
    with _lock:
        _in_process.clear()


# ---- the client -------------------------------------------------------------------------------
def deploy_registry(w3: Any, *, sender: str | None = None, private_key: str | None = None) -> str:
    """Deploy the committed registry build; returns its address. Used once per real chain."""
    build = contract_build()
    factory = w3.eth.contract(abi=build["abi"], bytecode=build["bytecode"])
    if private_key:
        account = w3.eth.account.from_key(private_key)
        tx = factory.constructor().build_transaction(
            {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
        )
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    else:
        tx_hash = factory.constructor().transact({"from": sender})
    return str(w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60).contractAddress)


class ChainClient:
    """The registry contract on one chain: send an anchor, read receipts and anchored roots."""

    def __init__(self, w3: Any, contract_address: str, *, sender: str | None = None, private_key: str | None = None):
        from web3 import Web3

        self.w3 = w3
        self.contract_address = Web3.to_checksum_address(contract_address)
        self.contract = w3.eth.contract(address=self.contract_address, abi=contract_build()["abi"])
        self._account = w3.eth.account.from_key(private_key) if private_key else None
        self.sender = self._account.address if self._account else sender

    def _rpc(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one web3 call; any failure of the node or the transport becomes ChainUnavailable."""
        try:
            return fn(*args, **kwargs)
        except ChainUnavailable:
            raise
        except Exception as exc:  # web3 raises many unrelated types (requests, RPC, timeouts, reverts)
            raise ChainUnavailable(f"{type(exc).__name__}: {exc}") from exc

    @property
    def chain_id(self) -> int:
        return int(self._rpc(lambda: self.w3.eth.chain_id))

    def send_anchor(self, batch_key: bytes, root_hex: str, record_count: int) -> str:
        """Send ``anchor(batchKey, root, count)``; returns the transaction hash (0x hex) at once."""
        call = self.contract.functions.anchor(batch_key, bytes.fromhex(root_hex), record_count)

        def send() -> Any:
            if self._account is None:
                return call.transact({"from": self.sender})
            tx = call.build_transaction(
                {"from": self.sender, "nonce": self.w3.eth.get_transaction_count(self.sender, "pending")}
            )
            return self.w3.eth.send_raw_transaction(self._account.sign_transaction(tx).raw_transaction)

        return "0x" + bytes(self._rpc(send)).hex()

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt once mined; None while the transaction is pending (or unknown to the node)."""
        from web3.exceptions import TransactionNotFound

        def get() -> Any:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                return None

        raw = self._rpc(get)
        if raw is None:
            return None
        return Receipt(
            tx_hash=tx_hash,
            block_number=int(raw["blockNumber"]),
            status=int(raw["status"]),
            gas_used=int(raw["gasUsed"]),
        )

    def transaction_known(self, tx_hash: str) -> bool:
        """Whether the node still knows the transaction (pending or mined); False if it was dropped."""
        from web3.exceptions import TransactionNotFound

        def get() -> bool:
            try:
                return self.w3.eth.get_transaction(tx_hash) is not None
            except TransactionNotFound:
                return False

        return bool(self._rpc(get))

    def anchored(self, batch_key: bytes) -> OnChainAnchor:
        root, count, block, _ts = self._rpc(self.contract.functions.rootOf(batch_key).call)
        return OnChainAnchor(root=bytes(root).hex(), record_count=int(count), block_number=int(block))

    def anchor_transaction(self, batch_key: bytes, block_number: int) -> str | None:
        """The hash of the transaction that anchored ``batch_key`` (from its event), if found."""
        logs = self._rpc(
            self.contract.events.RootAnchored().get_logs,
            from_block=block_number,
            to_block=block_number,
            argument_filters={"batchId": batch_key},
        )
        return ("0x" + bytes(logs[0]["transactionHash"]).hex()) if logs else None


def connect(
    rpc_url: str, *, contract_address: str | None = None, private_key: str | None = None, timeout_s: float = 10.0
) -> ChainClient:
    """The client for ``rpc_url`` (see the module docstring for the two kinds of URL)."""
    if rpc_url == IN_PROCESS_URL:
        return _in_process_client()
    if not rpc_url.startswith(("http://", "https://")):
        raise ValueError(f"Unsupported CHAIN_RPC_URL {rpc_url!r}: use {IN_PROCESS_URL} or an http(s) JSON-RPC URL")
    if not contract_address:
        raise ValueError(
            "CHAIN_CONTRACT_ADDRESS is not configured: deploy the registry (agri_chain.deploy_registry) "
            "and set chain_contract_address in cdk.json"
        )
    if not private_key:
        raise ValueError("No signing key: the writer reads it from Secrets Manager (CHAIN_KEY_SECRET_ARN)")
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    return ChainClient(w3, contract_address, private_key=private_key)
