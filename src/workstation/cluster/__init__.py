"""Scale-out on a Dask distributed cluster: one scheduler, N plain ``dask worker`` processes, PostgreSQL.

Qt-free and imported only when a scheduler is named (``--scheduler`` or WORKSTATION_DASK_SCHEDULER), so
the local default never pays for importing distributed. The pieces:

* :mod:`.connect`: the scheduler's address, the client, the one line that says where the dashboard is;
* :mod:`.versions`: workers must run the same workstation, TA-Lib and feature catalog as this machine;
* :mod:`.secret`: the database URL travels to workers inside an object whose repr hides the password;
* :mod:`.executor`: a ``concurrent.futures.Executor`` over the client (training folds, sweep points);
* :mod:`.features`: feature batches as tasks, each worker writing through its own database connection.
"""
