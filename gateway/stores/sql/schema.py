"""The gateway's own tables, as SQLAlchemy Core sees them.

The migrations in ``migrations/versions`` create exactly this (a test compares the
migrated database with these definitions). Every statement the stores send works
on PostgreSQL and SQLite alike: keys are natural and composite, conflicts are
``INSERT .. ON CONFLICT``, and times are epoch milliseconds from the gateway's
clock (both databases compare integers the same way; leases and expiries are
decided by the processes that share them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# SQLite makes only an INTEGER PRIMARY KEY an alias of its rowid (auto-numbered).
AutoId = BigInteger().with_variant(Integer(), "sqlite")

# Canonical id <-> the id each system of record uses, per tenant. The key is the
# reverse look-up (kind, because systems number object types from ranges that
# overlap); the index serves "every system id of this canonical id".
crosswalk_links = Table(
    "crosswalk_links",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("system", Text, primary_key=True),
    Column("system_id", Text, primary_key=True),
    Column("canonical_id", Text, nullable=False),
    Column("linked_at", BigInteger, nullable=False),
    Index(None, "tenant", "canonical_id"),
)

# Facts no system of record keeps (the quote an order came from, its legal entity).
record_annotations = Table(
    "annotations",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("canonical_id", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# Which tenant created a system-of-record record through the gateway (first claim
# wins); records without a row predate the gateway and every tenant sees them.
record_owners = Table(
    "record_owners",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("system", Text, primary_key=True),
    Column("system_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("claimed_at", BigInteger, nullable=False),
)

# Short-lived claims on a new customer's identity keys (tax id, name + country,
# web domain) that make two concurrent creates of one company collide.
identity_claims = Table(
    "identity_claims",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("identity_key", Text, primary_key=True),
    Column("canonical_id", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# Idempotency-Key records: in flight (owner + lease) until the first response is
# stored for replay; the row lives until ``expires_at`` (lease, then retention).
idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("record_id", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("response", LargeBinary, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "expires_at"),
)

# The submission ledger: one row per canonical id whose creation in a system of
# record moves money or creates master data (orders, invoices, payments). Claiming
# it is the only way to call the system's create, so two processes, two API
# versions or two keys racing on one id make one call. ``subject`` is the business
# thing only one of them may exist for (an order per accepted quote).
submissions = Table(
    "submissions",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("canonical_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("system", Text, nullable=False),
    Column("subject", Text, nullable=True),
    Column("state", Text, nullable=False),  # in_flight | unknown | done | failed
    Column("previous_state", Text, nullable=True),  # what the last claim took over
    Column("attempt", Integer, nullable=False),
    Column("lease_owner", Text, nullable=False),
    Column("lease_expires_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
    # Until then a look-up that misses does not prove the create failed: the system
    # may still be committing what the last attempt sent.
    Column("resolve_after", BigInteger, nullable=False),
    Column("system_id", Text, nullable=True),
    Column("last_error", Text, nullable=False),
    UniqueConstraint("tenant", "subject"),
)

# The audit trail: append-only. The entry id clients see is "<recorded_ms>-<id>".
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("recorded_ms", BigInteger, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("consumer", Text, nullable=False),
    Column("resource_id", Text, nullable=True),
    Column("entry", Text, nullable=False),
    Index(None, "recorded_ms", "id"),
    Index(None, "tenant", "recorded_ms", "id"),
)

# Clients registered at run time (the developer portal's sandbox apps). ``record`` is
# the whole registration (hashed secret, scopes, tenant); revoked ones stay.
client_registrations = Table(
    "client_registrations",
    metadata,
    Column("client_id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Index(None, "owner", "revoked_at"),
)

# Authorization codes of the built-in OpenID provider, by the SHA-256 of the code;
# ``record`` is the grant (client, redirect URI, PKCE challenge, who signed in).
authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", Text, primary_key=True),
    Column("record", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index(None, "expires_at"),
)

# Operations console sessions, by the SHA-256 of the id in the cookie; ``record`` is
# the signed-in user. Signing out sets revoked_at, so a copied cookie dies with it.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("session_hash", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Index(None, "expires_at"),
)

# The quote-to-cash tables live in gateway/flow (beside their store) on this metadata.
from gateway.flow import tables as _flow_tables  # noqa: E402, F401
