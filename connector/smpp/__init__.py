"""SMPP 3.4 client side: PDU codec helpers, sessions, the bind pool and delivery receipts."""
