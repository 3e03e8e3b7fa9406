"""The experiment runner: config in, results JSON Lines out, reports from results."""
