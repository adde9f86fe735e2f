using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace P2PNet.Hosting.Tests;

/// <summary>Keeps every log line as "Level Category: message"; <see cref="WaitForAsync"/> awaits one containing a text.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentDictionary<TaskCompletionSource, string> _waiters = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public async Task WaitForAsync(string text, TimeSpan timeout)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters[tcs] = text;
        try
        {
            if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return;
            await tcs.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no log line with '{text}' in time; lines:\n{string.Join('\n', _lines)}");
        }
        finally
        {
            _waiters.TryRemove(tcs, out _);
        }
    }

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        foreach (var (tcs, text) in _waiters)
            if (line.Contains(text, StringComparison.Ordinal)) tcs.TrySetResult();
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Add($"{logLevel} {category}: {formatter(state, exception)}");
        }
    }
}
