"""Tenant lifecycle operations of the operator: export, import and copy a tenant's data.

* :mod:`tenantkit.lifecycle.archive`: the export format, ``export_tenant`` and
  ``import_tenant``.
* :mod:`tenantkit.lifecycle.copy`: ``copy_tenant`` to the providers of a new secret,
  resumable, verified, then cut over; ``rollback``.
* :mod:`tenantkit.lifecycle.commands`: ``tenantkit tenant export | import | copy |
  rollback``.

They read and write through the tenant-scoped wrappers (``tenant.db.scan`` and
``restore``, ``tenant.storage.list``), so the core's checks apply to them as to
application code.
"""
