"""The office: answers plate reads against the live permit table and keeps the permit system.

Domain packages: `permits` (vehicles, zones, permits), `devices` (patrol-car identities and tokens),
`enforcement` (reads, verdicts and the gRPC service), over `storage` (SQLAlchemy + Alembic).
"""
