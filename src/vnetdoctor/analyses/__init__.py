"""Analyses built on ``diagnose``: the reachability matrix and the verdict diff.

They sit above :mod:`vnetdoctor.api` and the runbook: each asks many diagnoses (or reads the
engines a diagnosis uses) and summarises them, so they may import the runbook's types directly.

* :mod:`~vnetdoctor.analyses.matrix`: VM groups, the :class:`~vnetdoctor.analyses.matrix.Matrix`
  and the reference matrix (one real diagnosis per group pair);
* :mod:`~vnetdoctor.analyses.equivalence`: the layered keys that tell which group pairs one
  diagnosis answers for;
* :mod:`~vnetdoctor.analyses.compose`: the fast matrix, each cell composed from parts diagnosed
  once (``vnetdoctor.build_matrix``);
* :mod:`~vnetdoctor.analyses.diff`: which pairs change verdict between two snapshots.
"""
