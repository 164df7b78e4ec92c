"""Developer and test tooling: a throwaway PKI, a local Samba AD DC.

Nothing here is imported by the service itself; it exists so tests and the
demo can stand up real servers on loopback (dummy data only, 8.33).
"""
