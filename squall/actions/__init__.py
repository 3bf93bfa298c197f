"""Fault injection activities: Toxiproxy network faults (toxiproxy.py), Kubernetes, local processes."""
