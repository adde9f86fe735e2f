namespace P2PNet.Fuzz;

/// <summary>A broken invariant (a round trip that differs, a hang): a finding, never an expected parse error.</summary>
public sealed class FuzzFailureException : Exception
{
    /// <summary>Creates the failure.</summary>
    public FuzzFailureException(string message) : base(message) { }

    /// <summary>Creates the failure with its cause.</summary>
    public FuzzFailureException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates an empty failure.</summary>
    public FuzzFailureException() { }

    /// <summary>Throws when <paramref name="condition"/> is false.</summary>
    public static void Check(bool condition, string message)
    {
        if (!condition) throw new FuzzFailureException(message);
    }

    /// <summary>Awaits <paramref name="task"/>, turning a run past <paramref name="limit"/> into a finding (a hang).</summary>
    public static async Task WithinAsync(Task task, TimeSpan limit, string what)
    {
        try
        {
            await task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new FuzzFailureException($"{what} did not finish within {limit.TotalSeconds:F0} s", ex);
        }
    }
}
