"""Unified customer profiles (issue: unified customer profiles)."""
