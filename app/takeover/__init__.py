"""接管: members without a work unit (laid off, waiting for a post, contract ended, unplaced
veterans, unemployed graduates) taken over by the community (seed 003 §二(四), seed 000).

The practice is the "五个一" of each year — one org-life meeting, one thought report, one skill,
one suitable post, one contribution to the community — and help back into work: job leads,
referrals with their outcome, training records, and the 下岗党员责任书.
"""
