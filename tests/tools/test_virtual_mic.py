"""tools.virtual_mic.Monitor's reading of when a sound started and ended (the bench's clock), on made-up blocks."""

from tools.virtual_mic import Monitor


def monitor(peaks):
    m = Monitor("sink")
    m.times = [float(i) for i in range(len(peaks))]  # one block a second, to read easily
    m.peaks = list(peaks)
    return m


def test_first_and_last_sound_between_times():
    m = monitor([0, 0, 0.5, 0.5, 0, 0.005, 0.3, 0])
    assert m.first_loud(-1) == 2 and m.first_loud(2) == 3 and m.first_loud(3.5) == 6 and m.first_loud(6) is None
    assert m.last_loud(-1) == 6 and m.last_loud(-1, 6) == 3 and m.last_loud(3, 6) is None  # 0.005 is silence
    assert monitor([]).first_loud(0) is None and monitor([]).last_loud(0) is None


def test_a_block_whose_time_is_not_there_yet_is_not_read():
    m = monitor([0, 0.5])
    m.peaks.append(0.9)  # the reader thread appends the peak first, then the time
    assert m.first_loud(1) is None and m.last_loud(0) == 1
