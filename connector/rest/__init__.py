"""ViHAT's REST APIs: SMS, Voice OTP, voice from file, file upload and chat apps (Viber)."""
