import cProfile, pstats, random
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knowledge.demo import articles_read, knowledge_demo_load
pytestmark = pytest.mark.django_db
def test_prof():
    import sys; sys.path.insert(0, "bench")
    import knowledge_speed as ks
    knowledge_demo_load()
    ks._grow_solutions(3000, articles_read()["articles"], random.Random(1))
    ks._grow_accounts(3000, random.Random(1))
    pr = cProfile.Profile(); pr.enable()
    ks._rebuild("account")
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(12)
    ks._rebuild("solution")
    from knowledge import selectors
    with CaptureQueriesContext(connection) as ctx:
        pr = cProfile.Profile(); pr.enable()
        selectors.solution_search(query="Rechnunk doppelt")
        selectors.solution_search(query="Router blinkt rot")
        pr.disable()
    for q in ctx.captured_queries: print(q["time"], q["sql"][:200])
    pstats.Stats(pr).sort_stats("tottime").print_stats(12)
