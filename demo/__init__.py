"""The demo group: a fictional manufacturing group's deliveries, for trying envkpi out.

Not part of the library (it is not domain logic, and the wheel leaves it out): ``make demo``, or
``python -m demo.group [LANDING]`` from a checkout, regenerates ``data/demo/landing``.
"""
