"""Hand-written programs in the language, written the way people write Python.

Benchmark data for reconstruction of programs people write (issue 14): descriptive names,
accumulators, `out = []` + `for` + `append`, early returns, guards, `elif` chains,
`enumerate`/`zip`, `xs[:]` copies. The generator never writes programs like these, so they
measure how well a model trained on generated programs encodes and decodes real ones.

Never training data. Import it with `astae dataset import benchmarks/data/handwritten.py
--out DIR`, which canonicalises each function and generates its input/output examples;
tests/core/test_language.py checks that every function here stays in the language.
"""


def sum_of_list(numbers: list[int]) -> int:
    total = 0
    for n in numbers:
        total += n
    return total


def count_positives(numbers: list[int]) -> int:
    count = 0
    for n in numbers:
        if n > 0:
            count += 1
    return count


def count_occurrences(items: list[int], target: int) -> int:
    count = 0
    for item in items:
        if item == target:
            count = count + 1
    return count


def largest(numbers: list[int]) -> int:
    if len(numbers) == 0:
        return 0
    best = numbers[0]
    for n in numbers[1:]:
        if n > best:
            best = n
    return best


def smallest(numbers: list[int]) -> int:
    if not numbers:
        return 0
    return min(numbers)


def index_of(items: list[int], target: int) -> int:
    for i, item in enumerate(items):
        if item == target:
            return i
    return -1


def last_index_of(items: list[int], target: int) -> int:
    for i in range(len(items) - 1, -1, -1):
        if items[i] == target:
            return i
    return -1


def contains(items: list[int], target: int) -> int:
    if target in items:
        return 1
    return 0


def reverse_list(items: list[int]) -> list[int]:
    result = []
    for item in reversed(items):
        result.append(item)
    return result


def append_value(items: list[int], value: int) -> list[int]:
    out = items[:]
    out.append(value)
    return out


def prefix_sums(numbers: list[int]) -> list[int]:
    sums = []
    running = 0
    for n in numbers:
        running += n
        sums.append(running)
    return sums


def running_max(numbers: list[int]) -> list[int]:
    if not numbers:
        return []
    result = [numbers[0]]
    current = numbers[0]
    for n in numbers[1:]:
        if n > current:
            current = n
        result.append(current)
    return result


def running_min(numbers: list[int]) -> list[int]:
    result = []
    for i in range(len(numbers)):
        if i == 0:
            result.append(numbers[0])
        else:
            result.append(min(result[-1], numbers[i]))
    return result


def add_lists(xs: list[int], ys: list[int]) -> list[int]:
    return [x + y for x, y in zip(xs, ys)]


def multiply_lists(xs: list[int], ys: list[int]) -> list[int]:
    n = min(len(xs), len(ys))
    products = []
    for i in range(n):
        products.append(xs[i] * ys[i])
    return products


def dot_product(xs: list[int], ys: list[int]) -> int:
    total = 0
    for x, y in zip(xs, ys):
        total += x * y
    return total


def kth_largest(numbers: list[int], k: int) -> int:
    if k < 1 or k > len(numbers):
        return 0
    ordered = sorted(numbers, reverse=True)
    return ordered[k - 1]


def kth_smallest(numbers: list[int], k: int) -> int:
    if k <= 0 or k > len(numbers):
        return -1
    return sorted(numbers)[k - 1]


def evens(numbers: list[int]) -> list[int]:
    return [n for n in numbers if n % 2 == 0]


def above_threshold(numbers: list[int], threshold: int) -> list[int]:
    out = []
    for n in numbers:
        if n > threshold:
            out.append(n)
    return out


def double_all(numbers: list[int]) -> list[int]:
    return [2 * n for n in numbers]


def scale(numbers: list[int], factor: int) -> list[int]:
    scaled = []
    for n in numbers:
        scaled.append(n * factor)
    return scaled


def absolute_values(numbers: list[int]) -> list[int]:
    return [abs(n) for n in numbers]


def clamp_all(numbers: list[int], low: int, high: int) -> list[int]:
    clamped = []
    for n in numbers:
        if n < low:
            clamped.append(low)
        elif n > high:
            clamped.append(high)
        else:
            clamped.append(n)
    return clamped


def sign(x: int) -> int:
    if x > 0:
        return 1
    elif x < 0:
        return -1
    else:
        return 0


def factorial(n: int) -> int:
    if n < 0:
        return 0
    result = 1
    for i in range(1, n + 1):
        result *= i
    return result


def sum_between(start: int, stop: int) -> int:
    total = 0
    for i in range(start, stop):
        total += i
    return total


def fibonacci(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def power(base: int, exponent: int) -> int:
    result = 1
    for _ in range(exponent):
        result = result * base
    return result


def differences(numbers: list[int]) -> list[int]:
    diffs = []
    for i in range(1, len(numbers)):
        diffs.append(numbers[i] - numbers[i - 1])
    return diffs


def count_increases(numbers: list[int]) -> int:
    return sum(1 for prev, cur in zip(numbers, numbers[1:]) if cur > prev)


def remove_duplicates(items: list[int]) -> list[int]:
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def second_largest(numbers: list[int]) -> int:
    unique = []
    for n in numbers:
        if not n in unique:  # noqa: E713 - people write it this way
            unique.append(n)
    if len(unique) < 2:
        return 0
    unique = sorted(unique)
    return unique[-2]


def average(numbers: list[int]) -> int:
    if len(numbers) == 0:
        return 0
    return sum(numbers) // len(numbers)


def value_range(numbers: list[int]) -> int:
    if numbers == []:
        return 0
    return max(numbers) - min(numbers)


def last_or_default(items: list[int], default: int) -> int:
    if items:
        return items[-1]
    return default


def first_k(items: list[int], k: int) -> list[int]:
    return items[:k]


def drop_first_k(items: list[int], k: int) -> list[int]:
    return items[k:]


def rotate_left(items: list[int], k: int) -> list[int]:
    if len(items) == 0:
        return []
    k = k % len(items)
    return items[k:] + items[:k]


def interleave(xs: list[int], ys: list[int]) -> list[int]:
    merged = []
    for x, y in zip(xs, ys):
        merged.append(x)
        merged.append(y)
    return merged


def merge_sorted(xs: list[int], ys: list[int]) -> list[int]:
    combined = xs + ys
    return sorted(combined)


def evens_minus_odds(numbers: list[int]) -> int:
    evens = 0
    odds = 0
    for n in numbers:
        if n % 2 == 0:
            evens += 1
        else:
            odds += 1
    return evens - odds


def is_sorted(numbers: list[int]) -> int:
    for i in range(len(numbers) - 1):
        if numbers[i] > numbers[i + 1]:
            return 0
    return 1


def longest_increasing_run(numbers: list[int]) -> int:
    if not numbers:
        return 0
    best = current = 1
    for i in range(1, len(numbers)):
        if numbers[i] > numbers[i - 1]:
            current += 1
            if current > best:
                best = current
        else:
            current = 1
    return best


def sum_of_squares(numbers: list[int]) -> int:
    return sum(n ** 2 for n in numbers)


def count_in_range(numbers: list[int], low: int, high: int) -> int:
    count = 0
    for n in numbers:
        if low <= n <= high:
            count += 1
    return count


def zero_negatives(numbers: list[int]) -> list[int]:
    return [n if n > 0 else 0 for n in numbers]


def positions_of(items: list[int], target: int) -> list[int]:
    positions = []
    for index, item in enumerate(items):
        if item == target:
            positions.append(index)
    return positions


def every_other(items: list[int]) -> list[int]:
    return items[::2]


def max_pair_sum(numbers: list[int]) -> int:
    if len(numbers) < 2:
        return 0
    best = numbers[0] + numbers[1]
    for i in range(len(numbers)):
        for j in range(i + 1, len(numbers)):
            if numbers[i] + numbers[j] > best:
                best = numbers[i] + numbers[j]
    return best


def has_pair_with_sum(numbers: list[int], target: int) -> int:
    for i, a in enumerate(numbers):
        for b in numbers[i + 1:]:
            if a + b == target:
                return 1
    return 0


def window_sums(numbers: list[int], width: int) -> list[int]:
    if width <= 0:
        return []
    sums = []
    for start in range(len(numbers) - width + 1):
        window = numbers[start:start + width]
        sums.append(sum(window))
    return sums


def skip_negatives_running_total(numbers: list[int]) -> list[int]:
    totals = []
    total = 0
    for n in numbers:
        if n < 0:
            continue
        total += n
        totals.append(total)
    return totals


def count_multiples(numbers: list[int], divisor: int) -> int:
    if divisor == 0:
        return 0
    return len([n for n in numbers if n % divisor == 0])


def tens_plus_units(n: int) -> int:
    n = abs(n)
    return n // 10 + n % 10


def grade(score: int) -> int:
    if score >= 90:
        return 4
    elif score >= 80:
        return 3
    elif score >= 70:
        return 2
    elif score >= 60:
        return 1
    return 0


def pad_to_length(items: list[int], length: int) -> list[int]:
    padded = list(items)
    missing = length - len(padded)
    for _ in range(missing):
        padded.append(0)
    return padded


def count_peaks(numbers: list[int]) -> int:
    peaks = 0
    for i in range(1, len(numbers) - 1):
        if numbers[i] > numbers[i - 1] and numbers[i] > numbers[i + 1]:
            peaks += 1
    return peaks


def countdown(n: int) -> list[int]:
    return list(range(n, 0, -1))


def multiply_by_position(numbers: list[int]) -> list[int]:
    return [i * n for i, n in enumerate(numbers, 1)]


def max_of_three(a: int, b: int, c: int) -> int:
    return max(a, b, c)


def larger_total(xs: list[int], ys: list[int]) -> list[int]:
    if sum(xs) >= sum(ys):
        return xs
    else:
        return ys


def cube_if_small(x: int) -> int:
    if -10 < x < 10:
        return x ** 3
    return x
