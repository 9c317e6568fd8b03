"""直管 (resident members): 责任区, 设岗定责, 结对帮扶, 争五好 (seed 003 §二(一))."""
