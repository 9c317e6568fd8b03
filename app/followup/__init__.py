"""Follow-up work lists (SPEC §9): org life, thought reports, contact logs, alerts (``routes``);
dues (``dues_routes``), lost-contact cases (``lost_routes``), appraisal (``appraisal_routes``)."""
