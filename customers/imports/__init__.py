"""Importing customers and orders from CSV or Excel files.

parsing (read a file as rows, whatever its format or encoding) → mapping (which column is
which field) → validation (one row's cells into clean values or reasons) → loading (COPY
into a staging table, then set-wise upserts) → services (the ImportJob's life) → tasks.
"""
