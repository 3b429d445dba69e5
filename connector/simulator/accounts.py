"""The simulator's demo account, shaped like the credentials ViHAT issues: a 30-character hexadecimal
API key and secret key, used as SMPP system_id and password as well as for REST (seed: "System ID: Your
API KEY", "Password: Your Secret KEY"). Local demo and tests only."""

from __future__ import annotations

# Obviously made up, so no scanner or reader takes them for a real account's.
DEMO_API_KEY = "DE" * 15
DEMO_SECRET_KEY = "5EC0" * 7 + "DE"
