"""The bad-input suite: a client's mistake is a 4xx in the documented shape, never a 500.

``cases.CASES`` lists known bad requests with the status and field each must get; a new endpoint
joins by adding its cases. ``strategies`` generates arbitrary JSON in every position of a real
request (Hypothesis). Both run against the real HTTP service and the in-process ``Predictor``.
"""
