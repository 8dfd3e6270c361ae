"""Start and end time of a task."""
import datetime


def utc_now_text():
    """Current time as ISO 8601 with an explicit UTC offset (what the service parses)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


class Performance:
    """When a task ran: ISO 8601 start and end times (UTC).

    Args:
        start_time: ISO 8601 text, or None.
        end_time: ISO 8601 text, or None.
    """

    def __init__(self, start_time, end_time):
        self.start_time = start_time
        self.end_time = end_time

    def get_specification(self):
        return {"startTime": self.start_time, "endTime": self.end_time}
