"""Sync: :mod:`~baiji.sync.plan` decides, from two listings, what makes one side mirror
the other (pure); :mod:`~baiji.sync.run` lists, copies and deletes accordingly."""
