"""The task card as data: its schema and parser (`card`), the data files it names (`files`), and
the cards of ``S2RBENCH_TASKS_PATH`` (`user`).

Why a package of its own, below the plugin registry: the registry validates every registered task
as a `TaskCard`, parses the card paths a plugin registers and reads the user card directories, so
it needs the card; resolving a task *name*, loading a card's tables with a plugin's loader and the
authoring tools need the registry. With the card here and the rest in `s2rbench.tasks`, imports
go one way (cards < registry < tasks) where they used to go both ways between `tasks` and the
registry. `s2rbench.tasks.card` and `s2rbench.tasks.files` remain the same modules (aliases), and
``from s2rbench.tasks import TaskCard, load_card, ...`` keeps working (the public names are
exported there, once; this package re-exports nothing).
"""
