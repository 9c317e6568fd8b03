"""Assignment: placement of members (building → grid, branch, group), liaisons, bulk moves."""
