"""The correlator role: provider message ids → requests, across replicas (DESIGN.md section 8)."""
