from tests.helpers import submit, wait_for_status


def test_a_submitted_video_completes_and_downloads(client):
    video = submit(client)
    done = wait_for_status(client, video["id"])
    assert done["output"]["width"] == 160
    content = client.get(f"/v1/videos/{video['id']}/content")
    assert content.status_code == 200
    assert content.headers["content-type"] == "video/mp4"
