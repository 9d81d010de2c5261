"""Names of the shared change counters (rows of the ``counters`` table), bumped in the transaction of
every change they stand for and read once per API request (see gateway.versions)."""

CONTROLS_VERSION = "controls_version"  # fault rules, clock, rate-limit settings
ACCOUNTS_VERSION = "accounts_version"  # API accounts and their tokens (revocations, permissions, secrets)
VERSIONS = (CONTROLS_VERSION, ACCOUNTS_VERSION)
