using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace P2PNet.Tests.Support;

/// <summary>Keeps every log line in memory so that tests can check that the log says why.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message)> _entries = new();
    private readonly TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    public IReadOnlyCollection<(LogLevel Level, string Category, string Message)> Entries => _entries;

    public ILoggerFactory CreateFactory() => LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(this));

    /// <summary>Completes with the first message (past or future) that matches.</summary>
    public Task<string> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            foreach (var e in _entries)
                if (match(e.Message)) return Task.FromResult(e.Message);
            _waiters.Add((match, tcs));
        }
        return tcs.Task.WaitAsync(timeout);
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private void Add(LogLevel level, string category, string message)
    {
        lock (_waiters)
        {
            _entries.Enqueue((level, category, message));
            foreach (var w in _waiters.Where(w => w.Match(message)).ToList())
            {
                w.Done.TrySetResult(message);
                _waiters.Remove(w);
            }
        }
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(logLevel, category, formatter(state, exception));
    }
}
