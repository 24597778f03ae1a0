"""The farm data model shared by the ``farmers`` and ``fpo`` domains.

One DynamoDB table (``FarmTable``, design in docs/table-design.md) holds FPOs, farmers, plots,
seasons, evidence, the geohash index for overlap checks, sync receipts and the FPO aggregates.
Both domains read and write it through :class:`~agri_common.single_table.TableStore`, so the keys
(:mod:`keys`), the stored records (:mod:`records`) and the aggregate deltas (:mod:`aggregates`)
exist once, here.
"""
