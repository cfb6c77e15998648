"""Rendering results for people (rich text) and programs (JSON, with az-style JMESPath queries)."""
