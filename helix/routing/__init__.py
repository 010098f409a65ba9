"""Routing and resilience: deployments per model, load balancing, retries, fallbacks and cooldowns."""
