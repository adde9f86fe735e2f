using Xunit.Abstractions;

namespace P2PNet.Tests.Support;

/// <summary>Figures a test measures: to the test's output and to the console, as one <c>[measure] …</c> line.</summary>
internal static class Measure
{
    public static void Report(ITestOutputHelper output, string text)
    {
        string line = "[measure] " + text;
        output.WriteLine(line);
        Console.WriteLine(line);
    }
}
