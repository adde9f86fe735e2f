namespace P2PNet.Discovery.PeerExchange;

/// <summary>
/// Picks the bounded random sample of known peers a node shares in one peer-exchange round, so that over a
/// few rounds every peer gets shared without any packet growing with the size of the network.
/// </summary>
internal static class PeerExchangeSampler
{
    /// <summary>
    /// Returns at most <paramref name="max"/> items of <paramref name="candidates"/> that pass
    /// <paramref name="include"/>, chosen uniformly at random (reservoir sampling: one pass, O(max) memory).
    /// </summary>
    public static List<T> Sample<T>(IEnumerable<T> candidates, int max, Func<T, bool> include, Random random)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(include);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var sample = new List<T>(Math.Min(max, 64));
        if (max == 0) return sample;
        int seen = 0;
        foreach (var item in candidates)
        {
            if (!include(item)) continue;
            seen++;
            if (sample.Count < max) sample.Add(item);
            else
            {
                int slot = random.Next(seen);
                if (slot < max) sample[slot] = item;
            }
        }
        return sample;
    }
}
