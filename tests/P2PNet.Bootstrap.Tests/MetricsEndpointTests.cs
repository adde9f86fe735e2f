using System.Net;

namespace P2PNet.Bootstrap.Tests;

/// <summary>The Prometheus scraping endpoint (OpenTelemetry exporter) of the bootstrap server.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_are_served_in_prometheus_text_format_and_can_be_turned_off()
    {
        using var folder = new TempFolder();
        using var http = new HttpClient();
        await using (var server = await TestServer.StartAsync(folder.Path))
        {
            // One request first, so that ASP.NET Core's request duration histogram has a point to export.
            using (await http.GetAsync(new Uri(server.Url(), "admin"))) { }
            using var response = await http.GetAsync(new Uri(server.Url(), "metrics"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
            string body = await response.Content.ReadAsStringAsync();
            Assert.Contains("# TYPE http_server_request_duration_seconds histogram", body);
        }
        await using (var server = await TestServer.StartAsync(folder.Path, o => o.MetricsPath = ""))
        {
            using var response = await http.GetAsync(new Uri(server.Url(), "metrics"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
    }
}
