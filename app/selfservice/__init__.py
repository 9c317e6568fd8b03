"""Member self-service: own record, change requests reviewed by staff, own documents."""
