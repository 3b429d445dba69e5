"""The simulator's demo account, shaped like the credentials ViHAT issues: a 30-character hexadecimal
API key and secret key, used as SMPP system_id and password as well as for REST (seed: "System ID: Your
API KEY", "Password: Your Secret KEY"). Local demo and tests only."""

from __future__ import annotations

DEMO_API_KEY = "5F3A9C27D1E84B06A2C7E95D13F0B8"
DEMO_SECRET_KEY = "C0E4A19B7D3F5286E1B9A04C7D2E63"
