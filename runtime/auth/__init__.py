"""Accounts and sign-in: register, login, profile, email verification, password reset."""
