"""Kubernetes plumbing for squall's actions and probes: which cluster, guardrails, NetworkPolicies."""

from squall.errors import KubernetesAPIError
from squall.k8s.client import ClusterRef, api_call
from squall.k8s.guardrails import Guardrails
from squall.k8s.policy import parse_selector, partition_policy

__all__ = ["ClusterRef", "Guardrails", "KubernetesAPIError", "api_call", "parse_selector", "partition_policy"]
