"""Readers for guest artefacts: what ``vnetdoctor probe`` captures and what people paste.

One module per artefact kind (``ss``, ``netstat``, ``iptables``, ``nftables``, ``iproute``,
``ipconfig``, ``windows_firewall``, ``windows``); :mod:`vnetdoctor.guest.detect` tells them
apart by content and :func:`vnetdoctor.guest.load.load_guest_evidence` reads a probe file, one
artefact or a folder of them into :class:`vnetdoctor.model.evidence.GuestEvidence`.
"""
