"""Follow-up work lists (SPEC §9): org life, thought reports, contact logs, alerts (part 1);
dues, lost-contact cases, appraisal (part 2, ``routes_part2``)."""
